package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// The exporter's traffic in these tests goes to loopback servers only: the
// names in its URLs (collector.test, example.com) are never resolved, the
// exporter's dialer maps each host:port to a loopback server, as curl's
// --resolve does, so a refusal is seen without a packet leaving the machine.

// resolveTo makes e dial hosts[addr] for addr, and nothing else.
func resolveTo(t *testing.T, e *otlpExporter, hosts map[string]string, tlsCfg *tls.Config) {
	t.Helper()
	tr, ok := e.client.Transport.(*http.Transport)
	require.True(t, ok, "the exporter's transport is an *http.Transport")
	tr.Proxy = nil
	tr.TLSClientConfig = tlsCfg
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		to, ok := hosts[addr]
		if !ok {
			return nil, fmt.Errorf("test dialer: %s is not one of the test's servers", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, to)
	}
}

// exportOne exports one finished span, made by the SDK as the gateway's are.
func exportOne(t *testing.T, e *otlpExporter) error {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	_, span := tp.Tracer("test").Start(context.Background(), "GET")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return e.ExportSpans(ctx, rec.Ended())
}

func (rc *otlpReceiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.spans)
}

func hostPort(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	return u.Host
}

func TestOTLPExporterRefusesPlainHTTPToAHostOtherThanLoopback(t *testing.T) {
	rc := startOTLPReceiver(t)
	e := newOTLPExporter("http://collector.test:4318/v1/traces")
	resolveTo(t, e, map[string]string{"collector.test:4318": hostPort(t, rc.url)}, nil)

	err := exportOne(t, e)
	require.Error(t, err, "spans went to http://collector.test in clear")
	assert.Contains(t, err.Error(), "in clear")
	assert.Contains(t, err.Error(), "--otel-insecure-http", "the refusal says how to allow it")
	assert.Zero(t, rc.count(), "the collector off loopback got spans over plain http")
}

func TestOTLPExporterSendsPlainHTTPOffLoopbackWhenAllowed(t *testing.T) {
	rc := startOTLPReceiver(t)
	e := newOTLPExporter("http://collector.test:4318/v1/traces")
	e.clearText = true // --otel-insecure-http
	resolveTo(t, e, map[string]string{"collector.test:4318": hostPort(t, rc.url)}, nil)

	require.NoError(t, exportOne(t, e))
	assert.Equal(t, 1, rc.count(), "the allowed plain-http collector got no span")
}

// Allowing spans in clear is not allowing a password in clear: the URL's
// user info goes as Basic credentials.
func TestOTLPExporterRefusesCredentialsInClearEvenWhenAllowed(t *testing.T) {
	rc := startOTLPReceiver(t)
	e := newOTLPExporter("http://otlp:s3cret@collector.test:4318/v1/traces")
	e.clearText = true
	resolveTo(t, e, map[string]string{"collector.test:4318": hostPort(t, rc.url)}, nil)

	err := exportOne(t, e)
	require.Error(t, err, "the endpoint's password went in clear")
	assert.Contains(t, err.Error(), "credentials in clear")
	assert.NotContains(t, err.Error(), "s3cret", "the refusal shows the password")
	assert.Zero(t, rc.count())
}

func TestOTLPExporterSendsPlainHTTPOnLoopback(t *testing.T) {
	rc := startOTLPReceiver(t)
	_, port, err := net.SplitHostPort(hostPort(t, rc.url))
	require.NoError(t, err)
	for _, host := range []string{"127.0.0.1", "localhost", "[::1]"} {
		endpoint := "http://" + host + ":" + port + "/v1/traces"
		e := newOTLPExporter(endpoint)
		// ::1 may not be configured here: every loopback name dials the receiver.
		resolveTo(t, e, map[string]string{hostPort(t, endpoint): hostPort(t, rc.url)}, nil)
		require.NoError(t, exportOne(t, e), "plain http to %s", host)
	}
	assert.Equal(t, 3, rc.count())
}

func TestOTLPExporterRefusesARedirectToPlainHTTPOffLoopback(t *testing.T) {
	plain := startOTLPReceiver(t)
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// 307 keeps the method and the body: the spans would follow in clear.
		http.Redirect(w, r, "http://collector.test:4318/v1/traces", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(tlsSrv.Close)
	// httptest's certificate names example.com.
	e := newOTLPExporter("https://example.com:4318/v1/traces")
	resolveTo(t, e, map[string]string{"example.com:4318": hostPort(t, tlsSrv.URL), "collector.test:4318": hostPort(t, plain.url)},
		tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.Clone())

	err := exportOne(t, e)
	require.Error(t, err, "the spans followed a redirect to plain http")
	assert.Contains(t, err.Error(), "in clear")
	assert.NotContains(t, err.Error(), "gave up", "a refused redirect was retried until the export's deadline")
	assert.Zero(t, plain.count(), "the redirect's plain-http target got spans")
}

func TestOTLPExporterErrorsHideTheEndpointsPassword(t *testing.T) {
	refusing := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadRequest)
	}))
	t.Cleanup(refusing.Close)
	e := newOTLPExporter("https://otlp:s3cret@example.com:4318/v1/traces")
	resolveTo(t, e, map[string]string{"example.com:4318": hostPort(t, refusing.URL)},
		refusing.Client().Transport.(*http.Transport).TLSClientConfig.Clone())

	err := exportOne(t, e)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "example.com:4318", "the error names the collector")
	assert.NotContains(t, err.Error(), "s3cret", "the error shows the endpoint's password")
}
