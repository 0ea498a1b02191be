package main

import "time"

// limits are the serve flags of issue 18 against one client or address
// taking the server's CPU or connections (README; docs/RELIABILITY.md,
// "Threat model"). Their defaults are here, not in server.Config, whose
// zero turns them off for tests that sign up many accounts from
// 127.0.0.1.
type limits struct {
	SignupPerIP  int           `name:"signup-per-ip" default:"5" help:"Most accounts one address may create per 10 minutes (0 turns the limit off)."`
	SignupRate   float64       `name:"signup-rate" default:"60" help:"Most accounts created per minute by all addresses together (0 turns the limit off)."`
	LoginsPerIP  int           `name:"logins-per-ip" default:"300" help:"Most logins per minute from one address, by password or by token reconnect (0 turns the limit off)."`
	LoginTimeout time.Duration `name:"login-timeout" default:"60s" help:"Disconnect a socket that has not logged in this long after connecting (0 turns it off)."`
}

func (l limits) invalid() bool {
	return l.SignupPerIP < 0 || l.SignupRate < 0 || l.LoginsPerIP < 0 || l.LoginTimeout < 0
}
