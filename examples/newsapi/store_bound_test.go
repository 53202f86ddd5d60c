package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What openapi.yaml promises POST /articles keeps: the newest 1000
// articles, 16 MiB of text at most.
const (
	keptArticles = 1000
	keptBytes    = 16 << 20
)

// TestArticleStoreKeepsMemoryBounded posts more articles, and more text,
// than the store keeps: it holds the newest within both bounds, and the
// oldest are gone.
func TestArticleStoreKeepsMemoryBounded(t *testing.T) {
	st := newStore(nil)
	h := newHandler("t", st)
	post := func(title, body string) int {
		req := httptest.NewRequest(http.MethodPost, "/articles", strings.NewReader(fmt.Sprintf(`{"title":%q,"body":%q}`, title, body)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	get := func(id int64) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fmt.Sprintf("/articles/%d", id), nil))
		return rec.Code
	}
	kept := func() (n, bytes int, first string) {
		st.mu.RLock()
		defer st.mu.RUnlock()
		for _, a := range st.articles {
			bytes += len(a.Title) + len(a.Author) + len(a.Body)
		}
		return len(st.articles), bytes, st.articles[0].Title
	}

	// Text: articles of almost 1 MiB each, far past the bound.
	big := strings.Repeat("x", maxBodyBytes-100)
	for i := range 2 * keptBytes / len(big) {
		require.Equal(t, http.StatusCreated, post(fmt.Sprint("big ", i), big))
	}
	n, bytes, _ := kept()
	assert.LessOrEqual(t, bytes, keptBytes)
	assert.GreaterOrEqual(t, n, keptBytes/len(big)-1, "as many big articles as fit")
	assert.Equal(t, http.StatusOK, get(int64(3+2*keptBytes/len(big))), "the newest is kept")
	assert.Equal(t, http.StatusNotFound, get(1), "the oldest is dropped")

	// Count: small articles, far past the bound.
	for i := range 2 * keptArticles {
		require.Equal(t, http.StatusCreated, post(fmt.Sprint("small ", i), "s"))
	}
	n, _, first := kept()
	assert.Equal(t, keptArticles, n)
	assert.Equal(t, fmt.Sprint("small ", keptArticles), first, "the newest remain")
}
