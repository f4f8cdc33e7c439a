// SPDX-License-Identifier: MIT

//go:build unix

package nice

import "syscall"

// tryWrite is rc.Write's function: one write(2), never a wait. EAGAIN
// means the kernel took nothing.
func (w *nonblockWriter) tryWrite(fd uintptr) bool {
	for w.n < len(w.b) {
		n, err := syscall.Write(int(fd), w.b[w.n:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return true
		case err != nil:
			w.err = err
			return true
		}
		w.n += n
	}
	return true
}
