package gossip

import (
	"errors"
	"fmt"
	"time"
)

// SetKeys replaces the keyring of a running node, without restarting it:
// keys[0] becomes the key it encrypts with, every key in keys decrypts, and
// the keys not in keys are dropped. Rotating a cluster safely takes three
// calls on every node, each once all nodes had the one before: add the new
// key as a secondary ([old, new]), make it primary ([new, old]), drop the old
// one ([new]). A node started Insecure cannot take keys.
func (n *Node) SetKeys(keys [][]byte) error {
	if n.kr == nil {
		return errors.New("gossip: this node runs without encryption (insecure) and cannot take keys: restart it without --gossip-insecure")
	}
	if len(keys) == 0 {
		return errors.New("gossip: an empty keyring would leave the node unable to talk: keep at least one key")
	}
	for i, k := range keys {
		if err := checkKeyLen(k); err != nil {
			return fmt.Errorf("key %d of %d: %w", i+1, len(keys), err)
		}
	}
	n.keysMu.Lock()
	defer n.keysMu.Unlock()
	if SameKeys(n.kr.GetKeys(), keys) {
		return nil
	}
	// Add before use, use before remove: memberlist refuses to use a key it
	// does not hold and to remove its primary key.
	for _, k := range keys {
		if err := n.kr.AddKey(k); err != nil {
			return fmt.Errorf("gossip: add key: %w", err)
		}
	}
	if err := n.kr.UseKey(keys[0]); err != nil {
		return fmt.Errorf("gossip: use key: %w", err)
	}
	for _, old := range n.kr.GetKeys() {
		if !containsKey(keys, old) {
			if err := n.kr.RemoveKey(old); err != nil {
				return fmt.Errorf("gossip: remove key: %w", err)
			}
		}
	}
	n.log.Info().Int("keys", len(keys)).Msg("gossip: keyring changed")
	return nil
}

// Keys is the node's keyring, primary first; nil on an insecure node.
func (n *Node) Keys() [][]byte {
	if n.kr == nil {
		return nil
	}
	return n.kr.GetKeys()
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, x := range keys {
		if sameKey(x, k) {
			return true
		}
	}
	return false
}

// insecureWarnEvery is how often an insecure node repeats its warning.
const insecureWarnEvery = time.Hour

func (n *Node) warnInsecure() {
	n.log.Warn().Msg("gossip runs WITHOUT encryption (--gossip-insecure): anyone who reaches the gossip port can join, read every composition and inject one")
}

// insecureLoop repeats the insecure warning until Shutdown, so that it is in
// every window of the log someone may read.
func (n *Node) insecureLoop() {
	every := n.cfg.insecureWarnEvery
	if every <= 0 {
		every = insecureWarnEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
			n.warnInsecure()
		}
	}
}
