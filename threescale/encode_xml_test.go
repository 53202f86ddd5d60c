package threescale

import (
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncodeMapKeysInXML(t *testing.T) {
	out := encodeOne(t, Encoder{Format: XML}, "labels", map[string]string{"ok": "1", "not ok": "<2>"})
	assert.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><labels><entry key="not ok">&lt;2&gt;</entry><ok>1</ok></labels>`, out)
}

func TestXMLItemName(t *testing.T) {
	for in, want := range map[string]string{
		"policies": "policy", "hosts": "host", "addresses": "address", "boxes": "box", "matches": "match",
		"address": "address", "policy_chain": "policy_chain", "s": "s", "metric_ids": "metric_id",
	} {
		assert.Equal(t, want, xmlItemName(in), in)
	}
}

func TestEscapeXML(t *testing.T) {
	type v struct {
		A string `json:"a" wire:"attr"`
		T string `json:"t"`
	}
	in := v{A: "q\"<&>\n\t\r'", T: "x\x00y\r\n'\"\xff"}
	out := encodeOne(t, Encoder{Format: XML}, "v", in)
	assert.Equal(t, `<?xml version="1.0" encoding="UTF-8"?><v a="q&quot;&lt;&amp;&gt;&#xA;&#x9;&#xD;'"><t>x`+"\uFFFD"+`y&#xD;`+"\n"+`'"`+"\uFFFD"+`</t></v>`, out)
	var back struct {
		A string `xml:"a,attr"`
		T string `xml:"t"`
	}
	require.NoError(t, xml.Unmarshal([]byte(out), &back))
	assert.Equal(t, in.A, back.A)
	assert.Equal(t, "x\uFFFDy\r\n'\"\uFFFD", back.T)
}

func TestIsXMLName(t *testing.T) {
	for _, ok := range []string{"a", "service", "_x", "a-b.c", "A1"} {
		assert.True(t, isXMLName(ok), ok)
	}
	for _, bad := range []string{"", "1a", "-a", "a b", "proxiable?", "é", "a:b", "a[b]"} {
		assert.False(t, isXMLName(bad), bad)
	}
}
