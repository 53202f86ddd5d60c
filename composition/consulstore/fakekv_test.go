package consulstore_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// fakeKV is a minimal Consul KV agent (list, get, txn with cas),
// enough for the store, whose index can be reset as a rebuilt Consul's is.
type fakeKV struct {
	mu    sync.Mutex
	index uint64
	kv    map[string]fakeEntry
}

type fakeEntry struct {
	val []byte
	idx uint64
}

func newFakeKV(start uint64) *fakeKV {
	return &fakeKV{index: start, kv: map[string]fakeEntry{}}
}

// rebuild keeps every key and value but gives them new, low ModifyIndexes:
// Consul rebuilt and the KV imported again (consul kv import).
func (f *fakeKV) rebuild() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index = 10
	keys := make([]string, 0, len(f.kv))
	for k := range f.kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f.index++
		f.kv[k] = fakeEntry{val: f.kv[k].val, idx: f.index}
	}
}

type fakePair struct {
	Key         string
	Value       []byte
	CreateIndex uint64
	ModifyIndex uint64
}

func (f *fakeKV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/kv/"):
		key := strings.TrimPrefix(r.URL.Path, "/v1/kv/")
		var out []fakePair
		for k, e := range f.kv {
			if (r.URL.Query().Has("recurse") && strings.HasPrefix(k, key)) || k == key {
				out = append(out, fakePair{Key: k, Value: e.val, CreateIndex: e.idx, ModifyIndex: e.idx})
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		w.Header().Set("X-Consul-Index", strconv.FormatUint(f.index, 10))
		w.Header().Set("X-Consul-KnownLeader", "true")
		if len(out) == 0 {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodPut && r.URL.Path == "/v1/txn":
		var ops []struct {
			KV struct {
				Verb, Key string
				Value     []byte
				Index     uint64
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&ops); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type txnErr struct {
			OpIndex int
			What    string
		}
		for i, op := range ops {
			if op.KV.Verb == "cas" && f.kv[op.KV.Key].idx != op.KV.Index {
				w.WriteHeader(http.StatusConflict)
				_ = json.NewEncoder(w).Encode(map[string]any{"Errors": []txnErr{{i, "failed to set key: index is stale"}}})
				return
			}
		}
		f.index++
		var results []map[string]fakePair
		for _, op := range ops {
			switch op.KV.Verb {
			case "delete":
				delete(f.kv, op.KV.Key)
			default:
				f.kv[op.KV.Key] = fakeEntry{val: op.KV.Value, idx: f.index}
				results = append(results, map[string]fakePair{"KV": {Key: op.KV.Key, CreateIndex: f.index, ModifyIndex: f.index}})
			}
		}
		w.Header().Set("X-Consul-Index", strconv.FormatUint(f.index, 10))
		_ = json.NewEncoder(w).Encode(map[string]any{"Results": results, "Errors": nil})
	default:
		http.Error(w, "unexpected "+r.URL.String(), http.StatusTeapot)
	}
}
