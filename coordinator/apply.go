package coordinator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// applyHandler serves POST registry.PathAdminApply: the documents of the
// body become home's composition in one store.Update, so the apply is one
// revision or none, and documents home already holds make none. With
// dry_run the plan is computed inside the same kind of Update and nothing
// is written. With prune the engine deletes what the documents' services
// and backends own but no longer declare (manifest.Owners: the Service and
// Backend documents', never those they only refer to), never anything else.
func (c *Coordinator) applyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.tokens.Check(r) {
			threescale.WriteError(w, threescale.JSON, threescale.Forbidden("Access denied"))
			return
		}
		q := r.URL.Query()
		dryRun, err1 := parseFlag(q, registry.ParamDryRun)
		prune, err2 := parseFlag(q, registry.ParamPrune)
		if err := errors.Join(err1, err2); err != nil {
			threescale.WriteError(w, threescale.JSON, threescale.BadRequest(err.Error()))
			return
		}
		source, err := documentsSource(r)
		if err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		data, err := readBody(w, r)
		if err != nil {
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		release, err := c.decodeSlot(r.Context())
		if err != nil {
			threescale.WriteError(w, threescale.JSON, &statusError{status: http.StatusServiceUnavailable, msg: err.Error()})
			return
		}
		docs, err := decodeDocuments(data, source)
		if err != nil {
			release()
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		res, err := c.apply(r, docs, dryRun, prune)
		release() // before answering: a slow reader holds no slot
		if err != nil {
			if threescale.StatusOf(err) >= 500 {
				c.cfg.Logger.Error().Err(err).Msg("apply")
			}
			threescale.WriteError(w, threescale.JSON, err)
			return
		}
		if res.Applied {
			cr, up, del := res.Counts()
			c.cfg.Logger.Info().Int("created", cr).Int("updated", up).Int("deleted", del).
				Uint64("revision", res.Revision).Msg("documents applied")
		}
		httpjson.Write(w, http.StatusOK, res)
	})
}

// apply reconciles home's composition with docs in one store.Update.
func (c *Coordinator) apply(r *http.Request, docs []manifest.Document, dryRun, prune bool) (*registry.ApplyResult, error) {
	// Only what the documents declare is theirs to prune: services and
	// backends they merely refer to are carried into the desired
	// composition, and would otherwise look owned.
	owners := manifest.Owners(docs)
	opts := composition.DiffOptions{Prune: prune && len(owners) > 0, Owners: owners, Secrets: true}
	var plan *composition.Plan
	var base uint64
	snap, err := c.store.Update(r.Context(), c.api.CheckWrite(func(tx *composition.Tx) error {
		base = tx.View().Revision
		desired, err := manifest.Desired(docs, tx.View())
		if err != nil {
			return err
		}
		if desired, err = hashPasswords(desired); err != nil {
			return err
		}
		if dryRun {
			plan, err = composition.Diff(tx.View(), desired, opts)
		} else {
			plan, err = composition.Reconcile(tx, desired, opts)
		}
		return err
	}))
	if err != nil {
		return nil, applyError(err)
	}
	res := &registry.ApplyResult{Revision: snap.Revision, Applied: snap.Revision != base, Changes: plan.Changes}
	if res.Changes == nil {
		res.Changes = []composition.PlannedChange{}
	}
	redactSecrets(res.Changes)
	return res, nil
}

// secretFields are the fields of a plan's updates that hold credentials
// (the composition's HideSecrets): a plan is printed in CI logs, so it says
// that one changed, never what it was or becomes.
var secretFields = map[composition.Kind][]string{
	composition.KindProxy:       {"secret_token", "oidc_issuer_endpoint"}, // the issuer URL may hold the client's credentials
	composition.KindUser:        {"password"},
	composition.KindApplication: {"user_key", "application_id", "keys", "provider_verification_key"},
}

// redacted stands for a secret's value in a plan.
var redacted = []byte(`"(secret)"`)

func redactSecrets(changes []composition.PlannedChange) {
	for i := range changes {
		for j := range changes[i].Fields {
			f := &changes[i].Fields[j]
			if slices.Contains(secretFields[changes[i].Kind], f.Field) {
				f.Old, f.New = redacted, redacted
			}
		}
	}
}

// hashPasswords replaces the plaintext passwords of desired's users (a
// document's new password; one matching home's hash is home's hash
// already) with their hashes, so the store never holds plaintext. It runs
// under the writer lock, as the comparison with home's hashes does: only
// documents that carry passwords pay for it.
func hashPasswords(desired *composition.Composition) (*composition.Composition, error) {
	plain := desired.Users.Filter(func(u *composition.User) bool {
		return u.Password != "" && !composition.IsPasswordHash(u.Password)
	})
	if len(plain) == 0 {
		return desired, nil
	}
	tx := composition.NewTx(desired, time.Now())
	for _, u := range plain {
		n := *u
		h, err := composition.HashPassword(u.Password)
		if err != nil {
			return nil, err
		}
		n.Password = h
		if err := tx.Update(&n); err != nil {
			return nil, fmt.Errorf("user %q: %w", u.Username, err)
		}
	}
	return tx.Result(), nil
}

// readBody reads the request body, at most manifest.MaxBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, manifest.MaxBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, threescale.TooLarge(manifest.MaxBytes)
		}
		return nil, threescale.BadRequest("read documents: " + err.Error())
	}
	return data, nil
}

// documentsSource names the body in errors by its Content-Type, and
// refuses a format apply does not read.
func documentsSource(r *http.Request) (string, error) {
	switch ct := r.Header.Get("Content-Type"); mediaType(ct) {
	case "application/json":
		return "JSON body", nil
	case "", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
		return "YAML body", nil
	default:
		return "", unsupportedType(ct)
	}
}

// decodeDocuments decodes the body: every problem of every document, or
// none.
func decodeDocuments(data []byte, source string) ([]manifest.Document, error) {
	docs, err := manifest.Decode(bytes.NewReader(data), source)
	if err != nil {
		return nil, applyError(err)
	}
	if len(docs) == 0 {
		return nil, threescale.BadRequest("no documents in the body")
	}
	return docs, nil
}

func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

// parseFlag reads the boolean query parameter name; absent is false.
func parseFlag(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%s: want true or false", name, v)
	}
	return b, nil
}
