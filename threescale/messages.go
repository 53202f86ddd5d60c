package threescale

import (
	"net/http"

	"github.com/portolan/portolan/composition"
)

// Account Message: the provider sends a developer account a message, as
// porta's Admin::Api::MessagesController does (subject and body, neither
// required), and gets it back as sent (201). Portolan has no developer
// portal inbox and sends no email: the message is stored, with no other
// effect, and goes with its account.

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
		return tx.Create(m)
	})
	if err != nil {
		return err
	}
	return c.one("message", m)
}
