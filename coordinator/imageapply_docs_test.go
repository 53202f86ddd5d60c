package coordinator

import (
	"errors"
	"strings"
	"testing"

	"github.com/portolan/portolan/manifest"
)

func decodeDocs(t *testing.T, src string) []manifest.Document {
	t.Helper()
	docs, err := manifest.Decode(strings.NewReader(src), "image.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

const (
	newsDoc = `apiVersion: portolan.dev/v1
kind: Service
system_name: news
name: News
version: 1
backend_usages: [{backend: store, path: /store}]
`
	storeDoc = `apiVersion: portolan.dev/v1
kind: Backend
system_name: store
name: Store
private_endpoint: http://store:8080
`
)

func TestDocumentsDigestIgnoresOrderAndFormattingButNotContent(t *testing.T) {
	a, err := documentsDigest(decodeDocs(t, storeDoc+"---\n"+newsDoc))
	if err != nil {
		t.Fatal(err)
	}
	b, err := documentsDigest(decodeDocs(t, "# the same, reordered\n"+newsDoc+"---\n"+storeDoc))
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("the same documents in another order digest differently: %s, %s", a, b)
	}
	c, err := documentsDigest(decodeDocs(t, strings.Replace(newsDoc, "name: News", "name: News!", 1)+"---\n"+storeDoc))
	if err != nil {
		t.Fatal(err)
	}
	if c == a {
		t.Error("other content digests the same")
	}
	if !strings.HasPrefix(a, "sha256:") || len(a) != len("sha256:")+64 {
		t.Errorf("digest %q is not sha256: and 64 hex digits", a)
	}
}

func TestImageServiceDocumentAcceptsItsServiceAndUsedBackends(t *testing.T) {
	svc, err := imageServiceDocument(decodeDocs(t, newsDoc+"---\n"+storeDoc), "news")
	if err != nil || svc.SystemName != "news" || svc.Version != 1 {
		t.Fatalf("imageServiceDocument = %+v, %v; want service news at version 1", svc, err)
	}
	var ref *imageRefusal
	if _, err := imageServiceDocument(decodeDocs(t, newsDoc), "other"); !errors.As(err, &ref) {
		t.Errorf("documents of another service: %v, want a refusal", err)
	}
	if _, err := imageServiceDocument(decodeDocs(t, storeDoc), "news"); err == nil || !strings.Contains(err.Error(), "no Service document") {
		t.Errorf("a backend alone: %v, want no Service document", err)
	}
	two := newsDoc + "---\n" + strings.Replace(newsDoc, "name: News", "name: News 2", 1)
	if docs, err := manifest.Decode(strings.NewReader(two), "image.yaml"); err == nil {
		if _, err := imageServiceDocument(docs, "news"); err == nil {
			t.Error("two Service documents accepted")
		}
	}
}
