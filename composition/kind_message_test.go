package composition

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A message is bounded text whatever writes it (an import or apply as well
// as the API): porta's columns, a subject of 255 characters and a body of
// 64 KiB, UTF-8 without NUL. A blank subject, which an older Portolan
// stored, still imports.
func TestMessageIsBoundedTextWhateverWritesIt(t *testing.T) {
	h := newTestHead()
	mustUpdate(t, h, func(tx *Tx) error {
		acct := &Account{OrgName: "Acme"}
		require.NoError(t, tx.Create(acct))
		send := func(subject, body string) error {
			return tx.Create(&Message{AccountID: acct.ID, Subject: subject, Body: body})
		}
		require.NoError(t, send("Welcome", strings.Repeat("é", maxMessageBody)))
		require.NoError(t, send("", "no subject"))
		requireField(t, send(strings.Repeat("s", maxMessageSubject+1), ""), "subject")
		requireField(t, send("Hi", strings.Repeat("b", maxMessageBody+1)), "body")
		requireField(t, send("Hi\x00", ""), "subject")
		requireField(t, send("Hi", "\xff"), "body")
		return nil
	})
	assert.Equal(t, 2, h.Snapshot().Messages.Len(), "the two within bounds")
}
