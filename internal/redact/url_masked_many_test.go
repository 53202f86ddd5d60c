package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every URL a value holds has its password hidden, not just the first's:
// a Link header lists several, a callback URL carries another in its
// query; and every query holds its secret parameters hidden, the second
// URL's as the first's.
func TestURLMaskedHidesTheSecretsOfEveryURLInAValue(t *testing.T) {
	for in, want := range map[string]string{
		"http://a:secret-one@x.example, http://b:secret-two@y.example":                                     "http://a:xxxxx@x.example, http://b:xxxxx@y.example",
		`<https://docs:pw-one@docs.example/v1>; rel="v1", <https://docs:pw-two@docs.example/v2>; rel="v2"`: `<https://docs:xxxxx@docs.example/v1>; rel="v1", <https://docs:xxxxx@docs.example/v2>; rel="v2"`,
		"https://app.example/cb?redirect=http://u:nested-pw@y.example&token=t0k3n":                         "https://app.example/cb?redirect=http://u:xxxxx@y.example&token=xxxxx",
		"http://x.example?lang=en, http://y.example?api_key=second-key":                                    "http://x.example?lang=en, http://y.example?api_key=xxxxx",
		"https://x.example/p?token=se?cr?et&lang=en":                                                       "https://x.example/p?token=xxxxx&lang=en",
		"http://x.example/a http://y.example/b":                                                            "http://x.example/a http://y.example/b",
		"socks5h://u:socks-pw@proxy.example:1080":                                                          "socks5h://u:xxxxx@proxy.example:1080",
	} {
		assert.Equal(t, want, URLMasked(in), in)
	}
}

// A Redis URL's lone user information is its password: APIcast's
// connect_redis (threescale_utils.lua) authenticates with the user of
// "redis://secret@host" when no password follows it, as rate_limit's
// redis_url is read. Other schemes keep a lone user, as a client id.
func TestURLMaskedHidesARedisURLsLoneUser(t *testing.T) {
	for in, want := range map[string]string{
		"redis://redis-pw-123456@redis.internal:6379/1": "redis://xxxxx@redis.internal:6379/1",
		"REDISS://redis-pw-654321@redis.internal":       "REDISS://xxxxx@redis.internal",
		"redis://:redis-pw-111111@redis.internal:6379":  "redis://:xxxxx@redis.internal:6379",
		"redis://redis.internal:6379/0":                 "redis://redis.internal:6379/0",
		"https://client-id@idp.example/realm":           "https://client-id@idp.example/realm",
	} {
		assert.Equal(t, want, URLMasked(in), in)
	}
}
