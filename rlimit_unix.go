//go:build unix

package main

import (
	"log/slog"
	"syscall"
)

// raiseFileLimit raises the soft limit on open files to the hard one:
// every connection is a file descriptor, and a soft limit of 1024 lets a
// thousand idle clients stop the server from accepting. Go raises it by
// itself on Linux since 1.19; doing it here keeps that true on every
// Unix and puts the number in the log.
func raiseFileLimit(log *slog.Logger) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Debug("open files limit unknown", "err", err)
		return
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			log.Debug("open files limit not raised", "soft", lim.Cur, "hard", lim.Max, "err", err)
			return
		}
		lim = raised
	}
	log.Debug("open files limit", "soft", lim.Cur, "hard", lim.Max)
}
