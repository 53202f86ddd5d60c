package swagger_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/internal/testenv"
)

// TestImportOpenAPISecurityAlternativesAreNotAKeyPair: security requirements
// listed side by side are alternatives, any one of which is enough (OpenAPI
// 3.0.3, Security Requirement Object), and a service has one: the import
// takes the first and warns about the others. It took two apiKeys named in
// two alternatives for 3scale's app_id and app_key pair, so clients that send
// the one key the spec asks for were refused by the gateway.
func TestImportOpenAPISecurityAlternativesAreNotAKeyPair(t *testing.T) {
	c := testenv.StartCoordinator(t)
	out, err := importCLI(t, c, writeSpec(t, "alternatives.yaml", `openapi: 3.0.3
info: {title: Either Key, version: "1"}
components:
  securitySchemes:
    apiKey: {type: apiKey, in: header, name: X-API-Key}
    legacyKey: {type: apiKey, in: header, name: X-Legacy-Key}
security:
  - apiKey: []
  - legacyKey: []
paths:
  /things:
    get:
      operationId: listThings
      responses: {"200": {description: ok}}
`))
	require.NoError(t, err, out)
	s := readService(t, c, "either_key")
	assert.Equal(t, "1", s.product.BackendVersion, "one key: user_key")
	assert.Equal(t, "X-API-Key", s.proxy.AuthUserKey)
	assert.Equal(t, "headers", s.proxy.CredentialsLocation)
	assert.Contains(t, out, `warning: `)
	assert.Contains(t, out, `"legacyKey"`, "the warning names the alternative left out")

	// Operations that each ask for a different key are alternatives too.
	out, err = importCLI(t, c, writeSpec(t, "per-operation.yaml", `openapi: 3.0.3
info: {title: Per Operation, version: "1"}
components:
  securitySchemes:
    readKey: {type: apiKey, in: query, name: read_key}
    writeKey: {type: apiKey, in: query, name: write_key}
paths:
  /things:
    get:
      operationId: listThings
      security: [{readKey: []}]
      responses: {"200": {description: ok}}
    post:
      operationId: addThing
      security: [{writeKey: []}]
      responses: {"200": {description: ok}}
`))
	require.NoError(t, err, out)
	s = readService(t, c, "per_operation")
	assert.Equal(t, "1", s.product.BackendVersion)
	assert.Equal(t, "read_key", s.proxy.AuthUserKey)
	assert.Contains(t, out, `"writeKey"`)

	// Two keys in one requirement are the pair.
	out, err = importCLI(t, c, writeSpec(t, "pair.yaml", `openapi: 3.0.3
info: {title: Key Pair, version: "1"}
components:
  securitySchemes:
    appId: {type: apiKey, in: header, name: X-App-Id}
    appKey: {type: apiKey, in: header, name: X-App-Key}
security:
  - appKey: []
    appId: []
paths:
  /things:
    get:
      operationId: listThings
      responses: {"200": {description: ok}}
`))
	require.NoError(t, err, out)
	s = readService(t, c, "key_pair")
	assert.Equal(t, "2", s.product.BackendVersion)
	assert.Equal(t, "X-App-Id", s.proxy.AuthAppID)
	assert.Equal(t, "X-App-Key", s.proxy.AuthAppKey)
	assert.NotContains(t, out, "warning")
}
