package coordinator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/threescale"
)

// decodeImport reads the one composition document of an import's body:
// anything after it but space (a second document, a stray word) is
// refused, as a body only partly imported would be taken for all of it.
func decodeImport(w http.ResponseWriter, r *http.Request, doc *composition.Document) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxImportBytes))
	dec.DisallowUnknownFields()
	refused := func(err error, what string) error {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return threescale.TooLarge(MaxImportBytes)
		}
		return threescale.BadRequest(fmt.Sprintf("malformed composition document: %s%v", what, err))
	}
	if err := dec.Decode(doc); err != nil {
		return refused(err, "")
	}
	switch _, err := dec.Token(); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return refused(err, "after the document: ")
	default:
		return threescale.BadRequest(fmt.Sprintf("malformed composition document: more data after the document at byte %d: "+
			"an import takes one document (one portolan export)", dec.InputOffset()))
	}
}
