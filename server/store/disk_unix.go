//go:build unix

package store

import "syscall"

// lowDiskSpace is the free space below which a failure to open the
// database is reported as a full disk.
const lowDiskSpace = 1 << 20

// freeBytes returns the bytes an unprivileged writer may still use on the
// file system of dir.
func freeBytes(dir string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
