package coordinator

import (
	"net/netip"
	"strings"
	"testing"
)

// webhookHostAddr never panics, reads every canonical address (less DNS's
// trailing dot) as netip does, and reads an inet_aton form only as an IPv4
// address.
func FuzzWebhookHostAddr(f *testing.F) {
	for _, s := range []string{"169.254.169.254", "2852039166", "0xa9fea9fe", "0251.0376.0251.0376", "169.254.43518",
		"169.16689662", "0.0.0.0.", "::ffff:169.254.169.254", "fe80::1", "0x", "08", "1.2.3.4.5", "example.com", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		got, ok := webhookHostAddr(host)
		if want, err := netip.ParseAddr(strings.TrimSuffix(host, ".")); err == nil {
			if !ok || got != want {
				t.Fatalf("%q: got %v %v, want %v", host, got, ok, want)
			}
			return
		}
		if ok && !got.Is4() {
			t.Fatalf("%q: an inet_aton form read as %v", host, got)
		}
	})
}

func TestWebhookHostAddrForms(t *testing.T) {
	for host, want := range map[string]string{
		"2852039166": "169.254.169.254", "0xa9fea9fe": "169.254.169.254", "0251.0376.0251.0376": "169.254.169.254",
		"169.254.43518": "169.254.169.254", "169.16689662": "169.254.169.254", "169.254.169.254.": "169.254.169.254",
		"3758096385": "224.0.0.1",
	} {
		got, ok := webhookHostAddr(host)
		if !ok || got.String() != want {
			t.Errorf("%q: got %v %v, want %s", host, got, ok, want)
		}
	}
	for _, host := range []string{"example.com", "1.2.3.4.5", "4294967296", "256.1.1.1", "0x", "08", ""} {
		if got, ok := webhookHostAddr(host); ok {
			t.Errorf("%q: read as %v, want no address", host, got)
		}
	}
}
