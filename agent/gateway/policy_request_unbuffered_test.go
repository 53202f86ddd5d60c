package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

const unbufferedChain = `[{"name":"request_unbuffered","version":"builtin","enabled":true,"configuration":{}},
	{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`

// slowUploadApp is an upstream that reads request bodies as they come: it
// tells first when it has read the first part of one, then answers with
// the whole body it read.
type slowUploadApp struct {
	url   string
	first chan struct{} // one value per body whose first part arrived
}

const uploadFirst, uploadLast = "first-part,", "last-part"

func newSlowUploadApp(t *testing.T) *slowUploadApp {
	app := &slowUploadApp{first: make(chan struct{}, 4)}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := make([]byte, len(uploadFirst))
		if _, err := io.ReadFull(r.Body, got); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		app.first <- struct{}{}
		rest, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, string(got)+string(rest))
	}))
	t.Cleanup(s.Close)
	app.url = s.URL
	return app
}

// startUnbufferedGateway runs a gateway with chain in front of upstream,
// with a POST / rule for the uploads.
func startUnbufferedGateway(t *testing.T, chain, upstream string) string {
	t.Helper()
	return startUnbufferedGatewayWith(t, chain, upstream, Config{})
}

func startUnbufferedGatewayWith(t *testing.T, chain, upstream string, cfg Config) string {
	t.Helper()
	f := newGatewayFixture(t, backendUserKey)
	require.NoError(t, f.tx.Create(&composition.MappingRule{OwnerType: composition.OwnerService, OwnerID: f.svc.ID,
		MetricID: f.hits.ID, HTTPMethod: "POST", Pattern: "/", Delta: 1}))
	f.proxy(t, func(p *composition.Proxy) { p.PolicyChain = policyChain(t, chain) })
	_, base, _ := startTestGateway(t, f, upstream, f.placement(f.premium), cfg)
	return strings.TrimPrefix(base, "http://")
}

// slowUpload sends a POST whose body comes in two parts, the second only
// once the upstream has read the first or wait has passed; it reports
// whether the first part reached the upstream before the second was sent,
// and the answer.
func slowUpload(t *testing.T, addr string, app *slowUploadApp, chunked bool, wait time.Duration) (early bool, status int, body string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	head := "POST /upload?user_key=premium-key HTTP/1.1\r\nHost: gw\r\n"
	first, last := uploadFirst, uploadLast
	if chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
		first, last = wtChunk(first), wtChunk(last)+"0\r\n\r\n"
	} else {
		head += "Content-Length: " + strconv.Itoa(len(uploadFirst)+len(uploadLast)) + "\r\n\r\n"
	}
	_, err = io.WriteString(c, head+first)
	require.NoError(t, err)
	select {
	case <-app.first:
		early = true
	case <-time.After(wait):
	}
	_, err = io.WriteString(c, last)
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if !early {
		select {
		case <-app.first: // the upstream read it, late
		default:
		}
	}
	return early, resp.StatusCode, string(b)
}

// The README: "When the request_unbuffered is in the chain, request
// buffering is disabled, sending the request body to the proxied server
// immediately upon receiving it", "useful when proxying big payloads with
// HTTP/1.1 chunked encoding" (manifest). A slow chunked upload's first
// chunk reaches the upstream while the client has not sent the last one
// yet, and so does the first part of a body with a Content-Length.
func TestPolicyRequestUnbufferedStreamsTheBody(t *testing.T) {
	app := newSlowUploadApp(t)
	addr := startUnbufferedGateway(t, unbufferedChain, app.url)
	for _, chunked := range []bool{true, false} {
		early, status, body := slowUpload(t, addr, app, chunked, 3*time.Second)
		assert.True(t, early, "chunked %v: the first part reaches the upstream before the last is sent", chunked)
		assert.Equal(t, http.StatusOK, status, "chunked %v", chunked)
		assert.Equal(t, uploadFirst+uploadLast, body, "chunked %v: the whole body, in order", chunked)
	}
}

// A streamed upload may take longer than the upstream timeout: it bounds
// each write to the upstream, as nginx's proxy_send_timeout bounds two
// successive ones, and the wait for the answer once the body is sent, not
// the whole upload.
func TestPolicyRequestUnbufferedLongUploadIsNotCut(t *testing.T) {
	app := newSlowUploadApp(t)
	addr := startUnbufferedGatewayWith(t, unbufferedChain, app.url, Config{UpstreamTimeout: 400 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, "POST /upload?user_key=premium-key HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"+wtChunk(uploadFirst))
	require.NoError(t, err)
	parts := []string{"a", "b", "c", "d"}
	for _, p := range parts {
		time.Sleep(250 * time.Millisecond) // 1 s in all, each gap within the timeout
		_, err = io.WriteString(c, wtChunk(p))
		require.NoError(t, err)
	}
	_, err = io.WriteString(c, "0\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, uploadFirst+strings.Join(parts, ""), string(b))
}

// Through httputil.ReverseProxy too (here: an upstream with a base path),
// a chunked upload is sent on chunk by chunk.
func TestPolicyRequestUnbufferedStreamsThroughTheReverseProxy(t *testing.T) {
	app := newSlowUploadApp(t)
	addr := startUnbufferedGateway(t, unbufferedChain, app.url+"/base")
	early, status, body := slowUpload(t, addr, app, true, 3*time.Second)
	assert.True(t, early, "the first chunk reaches the upstream before the last is sent")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, uploadFirst+uploadLast, body)
}

// Without the policy the upload still goes through whole: the policy
// changes when the bytes leave, not what is sent.
func TestPolicyRequestUnbufferedAbsentKeepsTheBodyWhole(t *testing.T) {
	app := newSlowUploadApp(t)
	addr := startUnbufferedGateway(t, `[{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`, app.url)
	for _, chunked := range []bool{true, false} {
		_, status, body := slowUpload(t, addr, app, chunked, 100*time.Millisecond)
		assert.Equal(t, http.StatusOK, status, "chunked %v", chunked)
		assert.Equal(t, uploadFirst+uploadLast, body, "chunked %v", chunked)
	}
}

// The manifest's configuration has no properties: keys it does not know
// are ignored, as APIcast ignores them.
func TestPolicyRequestUnbufferedIgnoresUnknownKeys(t *testing.T) {
	cg := startChainGateway(t, `[{"name":"request_unbuffered","version":"builtin","enabled":true,"configuration":{"buffer":false}},
		{"name":"apicast","version":"builtin","configuration":{},"enabled":true}]`)
	a := call(t, "GET", cg.base+"/?user_key="+cg.key, nil)
	assert.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "app", a.body)
}
