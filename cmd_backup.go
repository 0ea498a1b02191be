package main

import (
	"fmt"

	"chatapp/server/store"
)

// backupCmd copies the live database, and the uploaded files it refers
// to into FILE.files/. It runs beside the server: the copy is a snapshot
// (store.Backup), so nothing needs stopping.
type backupCmd struct {
	File string `arg:"" type:"path" help:"Where to write the copy (a new file)."`
}

func (cmd *backupCmd) Run(e *env) error {
	info, err := store.Backup(e.ctx, e.data, cmd.File)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up %s to %s: %d bytes, messages up to seq %d\n", e.data, cmd.File, info.Bytes, info.LastSeq)
	fmt.Fprintf(e.stdout, "files: %d in %s.files (%d copied now, %d bytes in all)\n", info.Files, cmd.File, info.FilesCopied, info.FileBytes)
	if info.FilesMissing > 0 {
		fmt.Fprintf(e.stdout, "%d files were erased after the snapshot (their messages were deleted) and are not in the backup\n", info.FilesMissing)
	}
	return nil
}

// restoreCmd puts a backup in place, with its files from FILE.files/.
// The server must be stopped: the store refuses (store.ErrInUse) while
// anything has the database open.
type restoreCmd struct {
	File string `arg:"" type:"existingfile" help:"A backup written by 'chatapp backup'."`
}

func (cmd *restoreCmd) Run(e *env) error {
	previous, info, err := store.Restore(e.ctx, e.data, cmd.File)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %s into %s (messages up to seq %d)\n", cmd.File, e.data, info.LastSeq)
	fmt.Fprintf(e.stdout, "files: %d put back (%d bytes)\n", info.Files, info.FileBytes)
	if info.FilesMissing > 0 {
		fmt.Fprintf(e.stdout, "warning: %d files the backup refers to are neither in %s.files nor in the data directory; their messages stay and their links answer 404\n", info.FilesMissing, cmd.File)
	}
	if previous != "" {
		fmt.Fprintf(e.stdout, "the database it replaced is kept as %s (its files as %s.files)\n", previous, previous)
	}
	return nil
}
