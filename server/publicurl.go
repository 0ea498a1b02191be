package server

import (
	"errors"
	"net"
	"net/http"
	"strings"

	"chatapp/server/sio"
)

// ParsePublicURL checks a --public-url value, an http or https origin
// such as "https://chat.example.com", and returns it normalized.
func ParsePublicURL(s string) (string, error) {
	origin, err := sio.ParseOrigin(s)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(origin, "http://") && !strings.HasPrefix(origin, "https://") {
		return "", errors.New("the public URL must start with http:// or https://")
	}
	return origin, nil
}

// hostCheck refuses requests for other host names than the public URL's
// and loopback ones, with 421 Misdirected Request. DNS rebinding points
// an attacker's name at this server, so that the attacker's page and the
// server look like one origin to the browser; the Host header still
// carries the attacker's name. /healthz is exempt: load balancers probe
// it by address, and it tells nothing.
type hostCheck struct {
	public string // the public URL's host[:port], lower case, without its scheme's default port
	port   string // the scheme's default port
}

func newHostCheck(origin string) hostCheck {
	scheme, host, _ := strings.Cut(origin, "://")
	hc := hostCheck{public: host, port: "80"}
	if scheme == "https" {
		hc.port = "443"
	}
	return hc
}

func (hc hostCheck) allowed(host string) bool {
	host = strings.ToLower(host)
	if h, port, err := net.SplitHostPort(host); err == nil && port == hc.port {
		host = h
		if strings.Contains(h, ":") { // IPv6
			host = "[" + h + "]"
		}
	}
	return host == hc.public || isLoopbackHost(host)
}

func (hc hostCheck) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" && !hc.allowed(r.Host) {
			http.Error(w, "421 misdirected request: this server does not serve "+r.Host, http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isLoopbackHost reports whether host ("name", "name:port", "[v6]:port")
// names this machine: localhost, *.localhost or a loopback address. No
// DNS answer can make a browser send such a Host for another site's page.
func isLoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
