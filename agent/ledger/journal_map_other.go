//go:build !linux

package ledger

import (
	"errors"
	"os"
)

// Outside Linux the journal is written with write(2) (journal_file.go).

func mapJournal(*os.File, int64, int64) ([]byte, int64) { return nil, 0 }

func growJournal(_ *os.File, from, _ int64) (int64, error) {
	return from, errors.New("journal mapping is Linux-only")
}

func unmapJournal([]byte) {}
