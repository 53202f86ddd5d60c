package composition

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// KindMessage is the kind of the messages the provider sends its
// developers (3scale's Account Message).
const KindMessage Kind = "messages"

// Message is a message from the provider to a developer account, with
// porta's fields. Portolan has no developer portal inbox and sends no email:
// it stores the message as sent and answers it as 3scale does.
type Message struct {
	ID        int64     `json:"id" wire:"ro"`
	AccountID int64     `json:"account_id" wire:"-"` // the recipient
	Body      string    `json:"body"`
	Subject   string    `json:"subject"`
	State     string    `json:"state" wire:"ro"`
	CreatedAt time.Time `json:"created_at" wire:"ro"`
	UpdatedAt time.Time `json:"updated_at" wire:"ro"`
}

func (e *Message) Key() int64 { return e.ID }
func (e *Message) stamp(id int64, c, u time.Time) {
	e.ID, e.CreatedAt, e.UpdatedAt = id, c, u
}
func (e *Message) created() time.Time { return e.CreatedAt }
func (*Message) info() kindInfo       { return messageDef }

// Bounds of a message, porta's columns: subject a string, body a text.
const (
	maxMessageSubject = 255
	maxMessageBody    = 64 << 10
)

// A message goes to an existing account and is delivered at once (porta's
// deliver!: state "sent"). Its subject and body are UTF-8 text within
// porta's columns, whatever wrote them (the API, an import, apply); the API
// also requires a subject, as porta's Message does, while an import takes
// a blank one an older Portolan stored.
var messageDef = &kindDef[Message, *Message]{
	Kind:     KindMessage,
	Table:    func(c *Composition) *Table[*Message] { return &c.Messages },
	Document: func(d *Document) *[]*Message { return &d.Messages },
	Prepare: func(_ *Composition, m, old *Message) error {
		if old == nil {
			m.State = "sent"
		}
		return nil
	},
	Validate: func(c *Composition, m *Message, v *ValidationError) error {
		if _, ok := c.Accounts.Get(m.AccountID); !ok {
			return NotFound(KindAccount, m.AccountID)
		}
		boundedText(v, "subject", m.Subject, maxMessageSubject)
		boundedText(v, "body", m.Body, maxMessageBody)
		return nil
	},
	Import: func(m *Message, ref refFunc) { m.AccountID = ref("account_id", m.AccountID) },
}

// boundedText adds to v when value, field's, is longer than max characters
// or is not UTF-8 text without NUL.
func boundedText(v *ValidationError, field, value string, max int) {
	switch {
	case !utf8.ValidString(value) || strings.ContainsRune(value, 0):
		v.Add(field, "must be valid UTF-8 without NUL")
	case utf8.RuneCountInString(value) > max:
		v.Add(field, fmt.Sprintf("is too long (maximum is %d characters)", max))
	}
}
