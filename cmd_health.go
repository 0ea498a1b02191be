package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// healthcheckCmd asks a running server whether it is up, by GET /healthz.
// It exists for container health checks (deploy/Containerfile): the image
// has nothing but chatapp, so no curl or wget. Its flags read the same
// CHATAPP_* variables as serve's, so in the container it finds the server
// without arguments.
type healthcheckCmd struct {
	Host    string `default:"" help:"Interface the server listens on (default: all, checked on 127.0.0.1)."`
	Port    int    `default:"3000" help:"The server's TCP port."`
	TLSCert string `name:"tls-cert" help:"Set when the server serves HTTPS (the certificate is not checked: the server is this host)."`
}

func (cmd *healthcheckCmd) Run(e *env) error {
	host := cmd.Host
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	tr := &http.Transport{}
	if cmd.TLSCert != "" {
		scheme = "https"
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	url := scheme + "://" + net.JoinHostPort(host, strconv.Itoa(cmd.Port)) + "/healthz"
	c := &http.Client{Timeout: 5 * time.Second, Transport: tr}
	resp, err := c.Get(url)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check: %s answered %s", url, resp.Status)
	}
	fmt.Fprintf(e.stdout, "%s", body)
	return nil
}
