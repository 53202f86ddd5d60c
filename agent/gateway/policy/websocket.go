package policy

import "encoding/json"

// websocketPolicy is APIcast's "websocket" policy: "A policy which allows
// Websocket traffic for the service" (manifest), "Allows websocket
// connection pass through." In APIcast's rewrite phase, a request with an
// Upgrade header and a Sec-WebSocket-Key gets "Connection: Upgrade" sent
// upstream (nginx's $upstream_connection_header, empty otherwise), which is
// what lets the upstream switch; every other request goes on unchanged, its
// Upgrade not sent.
//
// The Portolan gateway relays a WebSocket handshake with or without this
// policy, once the apicast element has authorized it (an accepted
// requirement: WebSocket upgrades keep working for chains saved without
// it), and never relays any other upgrade: so the policy has nothing to
// turn on, and is accepted, validated and inert. What it would relay that
// the gateway does not: APIcast takes any Upgrade that comes with a
// Sec-WebSocket-Key (an "Upgrade: h2c" among them); the gateway takes
// "Upgrade: websocket" with "Connection: Upgrade" and the key only, as RFC
// 6455 has a client send, since a connection an app switched to another
// protocol would carry later requests past every check.
//
// The manifest's configuration has no properties, so there is no option
// to honour; keys it does not know are ignored, as APIcast and every other
// policy of the gateway ignore them, so that a chain 3scale's schema
// accepts is not refused here. The timeout and max_payload_len in
// APIcast's websocket test are those of the test's own lua-resty-websocket
// upstream, not the policy's.
type websocketPolicy struct{}

func newWebsocket(conf json.RawMessage, _ *Env) (Policy, error) {
	var cfg struct{}
	if err := Decode(conf, &cfg); err != nil {
		return nil, err // not a JSON object: the schema's "type": "object"
	}
	return websocketPolicy{}, nil
}

func (websocketPolicy) Name() string { return "websocket" }
