package agent_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/internal/testenv"
)

// tlsFiles issues a certificate of ca for 127.0.0.1 into dir as name.pem
// and name-key.pem.
func tlsFiles(t *testing.T, ca *pki.Authority, dir, name string, role pki.Role) (certFile, keyFile string) {
	t.Helper()
	chain, key, err := ca.Issue(pki.Leaf{Role: role, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}, time.Now())
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	require.NoError(t, os.WriteFile(keyFile, key, 0o600))
	require.NoError(t, os.WriteFile(certFile, chain, 0o600))
	return certFile, keyFile
}

// The agent's gateway with TLS on both sides, as a user runs it: clients
// get HTTP/2 or HTTP/1.1 over TLS (--gateway-tls-cert/--gateway-tls-key),
// and the app is reached over https, verified with --upstream-ca-file and
// presented the client certificate it requires.
func TestGatewayTLSThroughAgent(t *testing.T) {
	co := testenv.StartCoordinator(t)
	sid, _ := countedService(t, co, "Secure", "secureapi")
	var p struct {
		Plan struct{ ID int64 } `json:"application_plan"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/services/%d/application_plans.json", sid), "name=Basic", &p)
	var signup struct {
		Account struct{ ID int64 } `json:"account"`
	}
	adminCall(t, co, "POST", "/admin/api/signup.json", "org_name=Acme&username=alice&email=alice@example.com&password=s3cret-pass", &signup)
	var a struct {
		App struct {
			UserKey string `json:"user_key"`
		} `json:"application"`
	}
	adminCall(t, co, "POST", fmt.Sprintf("/admin/api/accounts/%d/applications.json", signup.Account.ID), fmt.Sprintf("name=app&plan_id=%d", p.Plan.ID), &a)

	ca, err := pki.NewAuthority("integration CA", time.Now())
	require.NoError(t, err)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, ca.CertPEM(), 0o600))
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	gwCert, gwKey := tlsFiles(t, ca, dir, "gateway", pki.RoleServer)
	upCert, upKey := tlsFiles(t, ca, dir, "upstream", pki.RoleServer)
	clientCert, clientKey := tlsFiles(t, ca, dir, "client", pki.RoleClient)

	upPair, err := tls.LoadX509KeyPair(upCert, upKey)
	require.NoError(t, err)
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "secure app, client %s", r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	app.EnableHTTP2 = true
	app.TLS = &tls.Config{Certificates: []tls.Certificate{upPair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	app.StartTLS()
	t.Cleanup(app.Close)
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(app.URL, "https://"))

	gw := testenv.FreeAddr(t)
	testenv.StartAgent(t, co, "--service", "secureapi", "--address", host, "--port", port,
		"--gateway-listen", gw, "--upstream", app.URL,
		"--gateway-tls-cert", gwCert, "--gateway-tls-key", gwKey,
		"--upstream-ca-file", caFile, "--upstream-client-cert", clientCert, "--upstream-client-key", clientKey,
		"--heartbeat", "300ms", "--ttl", "1s", "--", "sleep", "120")

	url := "https://" + gw + "/articles?user_key=" + a.App.UserKey
	for _, h2 := range []bool{true, false} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
		}
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		var (
			status, major int
			body          string
		)
		require.Eventually(t, func() bool {
			resp, err := c.Get(url)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			status, major, body = resp.StatusCode, resp.ProtoMajor, string(b)
			return status == 200
		}, 10*time.Second, 50*time.Millisecond, "the TLS gateway serves the app (h2 %v)", h2)
		assert.Equal(t, "secure app, client portolan client", body)
		if h2 {
			assert.Equal(t, 2, major)
		} else {
			assert.Equal(t, 1, major)
		}
	}
}

// A certificate and key that do not go together stop the agent at start,
// with exit code 2 and an error naming both flags.
func TestGatewayTLSMismatchedPairStopsAgent(t *testing.T) {
	ca, err := pki.NewAuthority("integration CA", time.Now())
	require.NoError(t, err)
	dir := t.TempDir()
	gwCert, _ := tlsFiles(t, ca, dir, "gateway", pki.RoleServer)
	_, otherKey := tlsFiles(t, ca, dir, "other", pki.RoleServer)
	a := testenv.StartAgentAt(t, "", "--service", "x", "--gateway-listen", testenv.FreeAddr(t), "--upstream", "http://127.0.0.1:1",
		"--gateway-tls-cert", gwCert, "--gateway-tls-key", otherKey, "--", "sleep", "120")
	code, exited := a.Wait(10 * time.Second)
	require.True(t, exited, "the agent stops")
	assert.Equal(t, 2, code)
	assert.Contains(t, a.Output.String(), "--gateway-tls-cert "+gwCert+" with --gateway-tls-key "+otherKey)
}
