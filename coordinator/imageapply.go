package coordinator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/composition/consulstore"
	"github.com/portolan/portolan/internal/httpjson"
	"github.com/portolan/portolan/manifest"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/threescale"
)

// An image brings its management: an agent started with --composition PUTs
// its documents to registry.ImageCompositionPath after registering, and
// home applies them to the one service the instance's join token is scoped
// to (registry.ImageScope), under the version rule of composition.Managed:
//
//   - the Service document's version: must be 1 or more;
//   - a higher version than the service records is applied: the service is
//     reconciled with the documents, what it owns and they no longer declare
//     pruned, and the version and digest recorded, in one revision;
//   - the same version with the same digest changes nothing, so many
//     replicas of one image apply once; changes made at home since (drift)
//     stay;
//   - the same version with another digest is a conflict (409), logged;
//   - a lower version changes nothing (logged at info), so old replicas
//     during a rolling update never bring the service back.
//
// The digest is of the documents, not of the composition, which is why a
// re-apply of the same version never overwrites drift.

// imageApplyHandler serves PUT /v1/instances/{id}/composition to instances
// with their credential.
func (c *Coordinator) imageApplyHandler() http.Handler {
	return c.instances.RequireInstance(c.agentAccess(), http.HandlerFunc(c.serveImageApply))
}

// errImageConflict refuses the same version with other content.
var errImageConflict = errors.New("conflict")

// imageRefusal is an image's documents refused for what they are, with the
// status to answer.
type imageRefusal struct {
	status int
	msg    string
}

func (e *imageRefusal) Error() string { return e.msg }

func (c *Coordinator) serveImageApply(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if self, _ := registry.InstanceOf(r.Context()); self != id {
		httpjson.Error(w, http.StatusForbidden, "this credential is instance "+self+"'s: an instance brings its own documents only")
		return
	}
	log := c.cfg.Logger.With().Str("instance", id).Logger()
	service, err := c.instances.ImageScope(id)
	switch {
	case errors.Is(err, registry.ErrUnscoped):
		log.Warn().Msg("refused an image's documents: the instance's token is not scoped to a service")
		httpjson.Error(w, http.StatusForbidden, err.Error())
		return
	case errors.Is(err, registry.ErrUnknown):
		httpjson.Error(w, http.StatusNotFound, registry.ErrUnknown.Error())
		return
	case err != nil:
		httpjson.Error(w, http.StatusInternalServerError, "internal error")
		return
	}
	// The body is read whole before Decode, so that one over the bound is
	// told as such, and so that a slow one holds no decode slot.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, registry.MaxImageDocumentsBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpjson.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the documents exceed %d bytes: bring fewer or smaller documents", registry.MaxImageDocumentsBytes))
			return
		}
		httpjson.Error(w, http.StatusBadRequest, "read the documents: "+err.Error())
		return
	}
	// Decoding is what the slot bounds (apply_slots.go), as for `portolan
	// apply`: the write, which serializes on the store's writer anyway (and
	// retries against other homes'), holds no other apply's decode back.
	var docs []manifest.Document
	if err := c.decodeInSlot(r.Context(), func() { docs, err = manifest.Decode(bytes.NewReader(body), "instance "+id) }); err != nil {
		httpjson.Error(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if err != nil {
		httpjson.Error(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	var ref *imageRefusal // a refusal of what the documents are, with its status
	svcDoc, err := imageServiceDocument(docs, service)
	if err != nil {
		if errors.As(err, &ref) {
			log.Warn().Str("service", service).Msg("refused an image's documents: " + ref.msg)
			httpjson.Error(w, ref.status, ref.msg)
			return
		}
		httpjson.Error(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	written, err := documentsDigestAsWritten(docs) // before documentsDigest reorders
	if err != nil {
		httpjson.Error(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	digest, err := documentsDigest(docs)
	if err != nil {
		httpjson.Error(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	reply, err := c.applyImageRetrying(r, docs, service, svcDoc.Version, digest, written)
	if errors.Is(err, errImageConflict) {
		msg := fmt.Sprintf("service %q is at version %d with other documents: an image's documents of one version must be the same everywhere (raise version: to change them)", service, svcDoc.Version)
		log.Error().Str("service", service).Int64("version", svcDoc.Version).Str("digest", digest).Msg("image documents conflict: " + msg)
		httpjson.Error(w, http.StatusConflict, msg)
		return
	}
	if errors.As(err, &ref) {
		log.Warn().Str("service", service).Msg("refused an image's documents: " + ref.msg)
		httpjson.Error(w, ref.status, ref.msg)
		return
	}
	if err != nil {
		// What the documents are is a 422, an answer; a store that failed or
		// kept losing races is a 5xx, which the agent retries.
		status := threescale.StatusOf(applyError(err))
		var lost *consulstore.ErrConflict
		if errors.As(err, &lost) {
			status = http.StatusServiceUnavailable
		}
		if status >= 500 {
			log.Error().Err(err).Str("service", service).Msg("an image's documents could not be applied")
			httpjson.Error(w, status, "home could not apply the documents now: "+err.Error())
			return
		}
		log.Warn().Err(err).Str("service", service).Msg("an image's documents could not be applied")
		httpjson.Error(w, status, err.Error())
		return
	}
	ev := log.Info()
	if reply.Outcome == composition.ManagedUnchanged {
		ev = log.Debug()
	}
	ev.Str("service", service).Int64("version", reply.Version).Int64("stored_version", reply.StoredVersion).
		Str("outcome", string(reply.Outcome)).Int("changes", len(reply.Changes)).Uint64("revision", reply.Revision).
		Msg("an image brought its documents")
	httpjson.Write(w, http.StatusOK, reply)
}

// imageApplyTries bounds the tries of one image's apply against other
// coordinators' writes (Consul's compare-and-set): a lost race loads the
// newer composition, so the next try decides against what won, and
// replicas racing through several homes apply once.
const imageApplyTries = 5

// applyImageRetrying is applyImage, tried again when another coordinator
// wrote first.
func (c *Coordinator) applyImageRetrying(r *http.Request, docs []manifest.Document, service string, version int64, digest, earlier string) (*registry.ImageApplyReply, error) {
	for try := 1; ; try++ {
		reply, err := c.applyImage(r, docs, service, version, digest, earlier)
		var lost *consulstore.ErrConflict
		if !errors.As(err, &lost) || try == imageApplyTries || r.Context().Err() != nil {
			return reply, err
		}
	}
}

// applyImage decides under the version rule and applies, all inside one
// store update, so replicas racing each other serialize on the writer and
// the second sees what the first recorded. earlier is the digest of the
// same documents as homes before computed it (documentsDigestAsWritten):
// a service recording it at version has these documents already.
func (c *Coordinator) applyImage(r *http.Request, docs []manifest.Document, service string, version int64, digest, earlier string) (*registry.ImageApplyReply, error) {
	reply := &registry.ImageApplyReply{Service: service, Version: version, Changes: []composition.PlannedChange{}}
	snap, err := c.store.Update(r.Context(), c.api.CheckWrite(func(tx *composition.Tx) error {
		// A store may run fn again (Consul's CAS): nothing of a try before stays.
		reply.Changes, reply.StoredVersion = []composition.PlannedChange{}, 0
		var stored *composition.Managed
		if svc, ok := tx.View().ServiceBySystemName(service); ok {
			stored = svc.Managed
		}
		reply.Outcome = stored.Decide(version, digest)
		if reply.Outcome == composition.ManagedConflict && earlier != "" && stored.Digest == earlier {
			reply.Outcome = composition.ManagedUnchanged // applied by a home before
		}
		switch reply.Outcome {
		case composition.ManagedConflict:
			return errImageConflict
		case composition.ManagedApply:
		default:
			reply.StoredVersion = stored.Version
			return nil
		}
		if err := sharedBackendRefusal(tx.View(), docs, service); err != nil {
			return err
		}
		desired, err := manifest.Desired(docs, tx.View())
		if err != nil {
			return err
		}
		plan, err := composition.Reconcile(tx, desired, composition.DiffOptions{
			// Only what the service owns is pruned: backends may be shared
			// with other services, so they are created and updated, never
			// pruned, by an image. Placements onto the service are home's
			// (an image may not bring them), so they stay.
			Prune: true, Owners: []string{composition.ServiceKey(service)},
			Unpruned: []composition.Kind{composition.KindPlacement},
			// The only secret an image's documents may hold is its proxy's
			// secret token, which its own app checks: the one they give is
			// stored, and one they leave out stays home's (manifest.Desired).
			Secrets: true,
		})
		if err != nil {
			return err
		}
		svc, ok := tx.View().ServiceBySystemName(service)
		if !ok {
			return fmt.Errorf("service %q is not there after applying its documents", service)
		}
		if err := tx.SetManaged(svc.ID, &composition.Managed{By: composition.ManagedByImage, Version: version, Digest: digest}); err != nil {
			return err
		}
		reply.Changes, reply.StoredVersion = plan.Changes, version
		return nil
	}))
	if err != nil {
		return nil, err
	}
	reply.Revision = snap.Revision
	// The reply goes to the instance: home's credentials it replaced (an
	// issuer's client credentials, which agents never see) stay home's.
	redactSecrets(reply.Changes)
	return reply, nil
}
