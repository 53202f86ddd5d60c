package client_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/registry/client"
)

func TestNewChecksAddress(t *testing.T) {
	for _, addr := range []string{"", "ftp://x", "127.0.0.1:7070", "http://", "://x"} {
		_, err := client.New(client.Config{Address: addr})
		require.Error(t, err, addr)
		assert.Contains(t, err.Error(), "want an http:// or https:// URL such as http://127.0.0.1:7070", addr)
	}
	c := newClient(t, client.Config{Address: " https://home.example:7070/prefix/ "})
	assert.Equal(t, "https://home.example:7070/prefix", c.Address())
	c = newClient(t, client.Config{Address: "http://user:secret@127.0.0.1:1"})
	assert.NotContains(t, c.Address(), "secret", "Address is fit for messages")
}

// A client with a token refuses plain HTTP off loopback before sending
// anything (DESIGN: HTTPS everywhere off loopback); without one, or on
// loopback, plain HTTP is fine.
func TestNewRefusesATokenInPlainHTTPOffLoopback(t *testing.T) {
	for _, addr := range []string{"http://home.example:7070", "http://10.0.0.1:7070", "http://[fd00::1]:7070", "http://user:pw@0.0.0.0:7070"} {
		_, err := client.New(client.Config{Address: addr, Token: "secret-token"})
		require.Error(t, err, addr)
		assert.Contains(t, err.Error(), "would send the token in clear: use https://", addr)
		assert.NotContains(t, err.Error(), "secret", addr)
	}
	for _, cfg := range []client.Config{
		{Address: "http://127.0.0.1:7070", Token: "t"}, {Address: "http://localhost:7070", Token: "t"},
		{Address: "http://[::1]:7070", Token: "t"}, {Address: "https://home.example:7070", Token: "t"},
		{Address: "http://10.0.0.1:7070"},
	} {
		newClient(t, cfg)
	}
}
