package auditlog

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// maxInstance bounds an instance id's length.
const maxInstance = 128

// CheckInstance refuses an instance id that is empty, long, or holds
// anything but letters, digits and ".-_:": it is written in every record
// as it is, and read back to group the files of a fleet.
func CheckInstance(id string) error {
	if id == "" || len(id) > maxInstance {
		return fmt.Errorf("auditlog: an instance id has 1 to %d characters, got %d", maxInstance, len(id))
	}
	for i := 0; i < len(id); i++ {
		if !instanceByte(id[i]) {
			return fmt.Errorf("auditlog: instance id %q: only letters, digits and .-_: may be used", id)
		}
	}
	return nil
}

func instanceByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-_:", c) >= 0
}

// newInstance makes the instance id of a new log: the host's name, as far
// as it fits, and a random suffix, so that two stores on one host (or two
// hosts of one name) differ.
func newInstance() string {
	host, _ := os.Hostname()
	var b strings.Builder
	for i := 0; i < len(host) && b.Len() < 64; i++ {
		if instanceByte(host[i]) {
			b.WriteByte(host[i])
		}
	}
	if b.Len() == 0 {
		b.WriteString("host")
	}
	var suffix [4]byte
	rand.Read(suffix[:])
	return b.String() + "-" + hex.EncodeToString(suffix[:])
}
