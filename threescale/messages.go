package threescale

import (
	"net/http"
	"strings"

	"github.com/portolan/portolan/composition"
)

// Account Message: the provider sends a developer account a message, as
// porta's Admin::Api::MessagesController does (a subject, which porta's
// Message requires, and a body), and gets it back as sent (201). Portolan
// has no developer portal inbox and sends no email: the message is stored,
// with no other effect, and goes with its account. Stored in the
// composition, it is held to the sizes of porta's columns: a subject of at
// most 255 characters, a body of at most 64 KiB, both UTF-8 text.

func (a *API) messageRoutes() []Route {
	return []Route{
		{Method: http.MethodPost, Path: "/admin/api/accounts/{account_id}/messages", Tag: "Accounts", Summary: "Account Message",
			Formats: []Format{JSON, XML}, Status: http.StatusCreated, handle: unwrapped("message", sendMessage)},
	}
}

func sendMessage(c *call) error {
	accountID, err := c.id("account_id")
	if err != nil {
		return err
	}
	m := &composition.Message{AccountID: accountID}
	_, err = c.update(func(tx *composition.Tx) error {
		if _, err := get(&tx.View().Accounts, accountID); err != nil {
			return err
		}
		m.Subject, _ = c.params.Get("subject")
		m.Body, _ = c.params.Get("body")
		if err := validateMessage(m); err != nil {
			return err
		}
		return tx.Create(m)
	})
	if err != nil {
		return err
	}
	return c.one("message", m)
}

// validateMessage answers 422 for a message porta would not deliver: one
// without a subject. Its size and text are the composition's to check.
func validateMessage(m *composition.Message) error {
	v := &composition.ValidationError{}
	if strings.TrimSpace(m.Subject) == "" {
		v.Add("subject", "can't be blank")
	}
	return v.Err()
}
