package composition

import "time"

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

// A message goes to an existing account and is delivered at once (porta's
// deliver!: state "sent"); porta requires neither subject nor body.
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
	Validate: func(c *Composition, m *Message, _ *ValidationError) error {
		if _, ok := c.Accounts.Get(m.AccountID); !ok {
			return NotFound(KindAccount, m.AccountID)
		}
		return nil
	},
	Import: func(m *Message, ref refFunc) { m.AccountID = ref("account_id", m.AccountID) },
}
