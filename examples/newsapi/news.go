package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limits of the API.
const (
	// maxBodyBytes bounds the body of POST /articles (413 beyond).
	maxBodyBytes = 1 << 20
	// defaultLimit and maxLimit bound ?limit of GET /articles.
	defaultLimit = 20
	maxLimit     = 100
	// Field lengths accepted by POST /articles.
	maxTitleLen  = 200
	maxAuthorLen = 100
	// maxArticles and maxStoreBytes bound what the store keeps in memory
	// (the pods give the app 256 MiB): past either, the oldest articles
	// are dropped to make room for a new one.
	maxArticles   = 1000
	maxStoreBytes = 16 << 20
)

// servedByHeader names the instance that answered, on every answer.
const servedByHeader = "X-Served-By"

// Article is one news article.
type Article struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	Author    string    `json:"author,omitempty"`
	Body      string    `json:"body,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// NewArticle is the body of POST /articles.
type NewArticle struct {
	Title  string `json:"title"`
	Author string `json:"author,omitempty"`
	Body   string `json:"body,omitempty"`
}

// ArticleList answers GET /articles.
type ArticleList struct {
	// ServedBy is the name of the instance that answered.
	ServedBy string    `json:"served_by"`
	Total    int       `json:"total"`
	Articles []Article `json:"articles"`
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
}

// store keeps the articles in memory, in creation order, at most
// maxArticles of them and maxStoreBytes of text: it is a demo, not a
// database, and an endless stream of POSTs must not exhaust the memory. It
// is safe for concurrent use.
type store struct {
	mu       sync.RWMutex
	articles []Article
	bytes    int // the text the articles hold (articleBytes)
	nextID   int64
	now      func() time.Time
}

// articleBytes is the text an article holds, what maxStoreBytes counts.
func articleBytes(a Article) int { return len(a.Title) + len(a.Author) + len(a.Body) }

// newStore returns a store seeded with a few articles.
func newStore(now func() time.Time) *store {
	if now == nil {
		now = time.Now
	}
	s := &store{nextID: 1, now: now}
	for _, a := range []NewArticle{
		{Title: "Portolan charts rediscovered in a harbour archive", Author: "M. Reis", Body: "Sailing charts from the 14th century, drawn from compass bearings, turn up in a Lisbon warehouse."},
		{Title: "One binary to manage them all", Author: "Desk", Body: "A coordinator, a container agent and a CLI share a single static executable."},
		{Title: "Heartbeats every two seconds keep the map honest", Author: "Ops", Body: "Instances that stop phoning home turn critical after their TTL."},
	} {
		s.add(a)
	}
	return s
}

// list returns the first limit articles and the total count.
func (s *store) list(limit int) ([]Article, int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := min(limit, len(s.articles))
	out := make([]Article, n)
	copy(out, s.articles[:n])
	return out, len(s.articles)
}

// get returns the article with the given id.
func (s *store) get(id int64) (Article, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, a := range s.articles {
		if a.ID == id {
			return a, true
		}
	}
	return Article{}, false
}

// add stores a new article and returns it with its id, dropping the
// oldest articles when the store would hold more than maxArticles or
// maxStoreBytes.
func (s *store) add(n NewArticle) Article {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := Article{ID: s.nextID, Title: n.Title, Author: n.Author, Body: n.Body, CreatedAt: s.now().UTC()}
	s.nextID++
	s.articles = append(s.articles, a)
	s.bytes += articleBytes(a)
	for len(s.articles) > 1 && (len(s.articles) > maxArticles || s.bytes > maxStoreBytes) {
		s.dropOldest()
	}
	return a
}

// dropOldest forgets the oldest article. The slot is cleared so that the
// backing array does not keep its text alive.
func (s *store) dropOldest() {
	s.bytes -= articleBytes(s.articles[0])
	s.articles[0] = Article{}
	s.articles = s.articles[1:]
}

// api serves the news API of one named instance.
type api struct {
	name  string
	store *store
}

// route is one endpoint of the API; openapi.yaml describes each of them.
type route struct {
	Method, Path string // Path is an http.ServeMux and OpenAPI path template
	Handler      http.HandlerFunc
}

// routes lists every endpoint of the API.
func (a *api) routes() []route {
	return []route{
		{http.MethodGet, "/articles", a.listArticles},
		{http.MethodGet, "/articles/{id}", a.getArticle},
		{http.MethodPost, "/articles", a.createArticle},
		{http.MethodGet, "/health", a.health},
	}
}

// newHandler returns the news API's handler: every route, with the
// X-Served-By header on every answer (errors and unknown routes included).
func newHandler(name string, st *store) http.Handler {
	a := &api{name: name, store: st}
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		mux.HandleFunc(rt.Method+" "+rt.Path, rt.Handler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(servedByHeader, name)
		mux.ServeHTTP(w, r)
	})
}

func (a *api) listArticles(w http.ResponseWriter, r *http.Request) {
	limit := defaultLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit must be an integer from 1 to %d", maxLimit))
			return
		}
		limit = n
	}
	articles, total := a.store.list(limit)
	writeJSON(w, http.StatusOK, ArticleList{ServedBy: a.name, Total: total, Articles: articles})
}

func (a *api) getArticle(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no article %q", raw))
		return
	}
	art, ok := a.store.get(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no article %d", id))
		return
	}
	writeJSON(w, http.StatusOK, art)
}

func (a *api) createArticle(w http.ResponseWriter, r *http.Request) {
	in, status, err := decodeArticle(w, r)
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	art := a.store.add(in)
	w.Header().Set("Location", "/articles/"+strconv.FormatInt(art.ID, 10))
	writeJSON(w, http.StatusCreated, art)
}

// decodeArticle reads and validates the body of POST /articles. On error it
// also returns the status to answer with: 413 for a body over the limit,
// 400 for anything else.
func decodeArticle(w http.ResponseWriter, r *http.Request) (NewArticle, int, error) {
	var in NewArticle
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(&in)
	if err == nil {
		// Exactly one JSON value: anything after it is an error.
		if dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("unexpected data after the JSON object")
		}
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return in, http.StatusRequestEntityTooLarge, fmt.Errorf("request body is larger than %d bytes", tooBig.Limit)
		}
		if errors.Is(err, io.EOF) {
			return in, http.StatusBadRequest, errors.New("request body is empty: want a JSON article")
		}
		return in, http.StatusBadRequest, fmt.Errorf("invalid JSON article: %v", err)
	}
	in.Title = strings.TrimSpace(in.Title)
	in.Author = strings.TrimSpace(in.Author)
	switch {
	case in.Title == "":
		return in, http.StatusBadRequest, errors.New("title is required")
	case len(in.Title) > maxTitleLen:
		return in, http.StatusBadRequest, fmt.Errorf("title is longer than %d bytes", maxTitleLen)
	case len(in.Author) > maxAuthorLen:
		return in, http.StatusBadRequest, fmt.Errorf("author is longer than %d bytes", maxAuthorLen)
	}
	return in, 0, nil
}

func (a *api) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}
