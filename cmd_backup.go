package main

import (
	"fmt"

	"chatapp/server/store"
)

// backupCmd copies the live database. It runs beside the server: the
// copy is a snapshot (store.Backup), so nothing needs stopping.
type backupCmd struct {
	File string `arg:"" type:"path" help:"Where to write the copy (a new file)."`
}

func (cmd *backupCmd) Run(e *env) error {
	info, err := store.Backup(e.ctx, e.data, cmd.File)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up %s to %s: %d bytes, messages up to seq %d\n", e.data, cmd.File, info.Bytes, info.LastSeq)
	return nil
}

// restoreCmd puts a backup in place. The server must be stopped: the
// store refuses (store.ErrInUse) while anything has the database open.
type restoreCmd struct {
	File string `arg:"" type:"existingfile" help:"A backup written by 'chatapp backup'."`
}

func (cmd *restoreCmd) Run(e *env) error {
	previous, info, err := store.Restore(e.ctx, e.data, cmd.File)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %s into %s (messages up to seq %d)\n", cmd.File, e.data, info.LastSeq)
	if previous != "" {
		fmt.Fprintf(e.stdout, "the database it replaced is kept as %s\n", previous)
	}
	return nil
}
