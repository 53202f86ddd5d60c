package coordinator

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
)

// Every refusal of an image's documents names the document as Decode's
// errors do: the source and line, the document's number, its kind and
// name, and the field that made it refused.
func TestImageRefusalsNameDocumentKindNameAndField(t *testing.T) {
	account := "---\napiVersion: portolan.dev/v1\nkind: Account\norg_name: ACME\n"
	for _, tc := range []struct{ name, docs, service, want string }{
		{"another service", newsDoc, "other",
			`image.yaml:1: document 1 (Service "news"): system_name: this instance's join token is scoped to service "other": its image may bring that service's documents only`},
		{"a kind an image may not bring", newsDoc + "---\n" + storeDoc + account, "news",
			`image.yaml:14: document 3 (Account "ACME"): kind: an image brings Service and Backend documents only; Accounts are managed at home`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := imageServiceDocument(decodeDocs(t, tc.docs), tc.service)
			var ref *imageRefusal
			require.True(t, errors.As(err, &ref), "a refusal: %v", err)
			assert.Contains(t, ref.msg, tc.want)
		})
	}
	t.Run("an unused backend", func(t *testing.T) {
		noUsage := "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nversion: 1\n"
		_, err := imageServiceDocument(decodeDocs(t, noUsage+"---\n"+storeDoc), "news")
		var ref *imageRefusal
		require.True(t, errors.As(err, &ref), "a refusal: %v", err)
		assert.Equal(t, `image.yaml:7: document 2 (Backend "store"): system_name: service "news" does not use this backend: an image brings only the backends its service uses`, ref.msg)
	})
	t.Run("a backend another service uses", func(t *testing.T) {
		tx := composition.NewTx(composition.New(), time.Now())
		store := &composition.BackendAPI{Name: "Store", SystemName: "store", PrivateEndpoint: "http://store.internal:8080"}
		require.NoError(t, tx.Create(store))
		weather := &composition.Service{Name: "Weather", SystemName: "weather"}
		require.NoError(t, tx.Create(weather))
		require.NoError(t, tx.Create(&composition.BackendUsage{ServiceID: weather.ID, BackendAPIID: store.ID, Path: "/"}))
		err := sharedBackendRefusal(tx.Result(), decodeDocs(t, newsDoc+"---\n"+storeDoc), "news")
		var ref *imageRefusal
		require.True(t, errors.As(err, &ref), "a refusal: %v", err)
		assert.Equal(t, `image.yaml:8: document 2 (Backend "store"): system_name: backend "store" is used by service "weather" too: an image may change only backends no other service uses (drop the Backend document to use it as home has it)`, ref.msg)
	})
}
