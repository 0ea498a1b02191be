//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly || windows)

package store

import "os"

// lockFile does nothing where neither flock nor LockFileEx exists: there
// Restore cannot tell whether a server has the database open.
func lockFile(f *os.File, exclusive bool) error { return nil }
