// Package jointoken is the join token: the one string an operator hands a
// new agent (`portolan token create`, then `portolan agent --token`). It
// holds a public id (to list and revoke the token), a 256-bit random secret
// (what home checks, stored only as a hash), and the pin of home's CA, as
// kubeadm's join tokens do: the agent trusts home with nothing else to
// copy, and a man in the middle is refused.
//
//	ptj1.<id>.<secret>.<pin>
//	ptj1.afe0b425.PkTCWmFz3gfV04nbwf9uZOBE8SkzB4KPZfV-7y-u1DE.50d858e0985ecc7f60418aaf0cc5ab587f42c2570a884095a9e8ccacd0f6545c
//
// The id is 8 lowercase hex digits; the secret 32 random bytes in base64url
// (unpadded); the pin the 64 hex digits of a pki.Pin ("sha256:" before
// them is the pin as pki.Pin prints it, kubeadm's CA cert hash). A home serving plain HTTP has no CA, and its tokens no pin part:
// "ptj1.<id>.<secret>". Parts are separated by dots, which neither
// alphabet uses.
//
// It only makes, parses, prints and hashes tokens; what a token may do
// (its service, labels, count and lifetime) is kept by the registry.
//
// It imports the standard library and internal/pki only.
package jointoken
