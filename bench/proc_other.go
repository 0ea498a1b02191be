//go:build !unix

package bench

import "time"

// selfCPU is not measured where getrusage is missing (Windows): the
// report shows the load generator's own CPU as 0.
func selfCPU() time.Duration { return 0 }

// raiseFileLimit does nothing where there is no RLIMIT_NOFILE; it
// reports no limit.
func raiseFileLimit() uint64 { return 0 }
