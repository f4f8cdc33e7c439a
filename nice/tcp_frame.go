// SPDX-License-Identifier: MIT

package nice

import (
	"errors"
	"io"
)

// ICE-TCP carries STUN and data over TCP in RFC 4571 frames: a 16-bit
// big-endian length, then that many bytes (RFC 6544 §3).

// maxFrame is the largest RFC 4571 payload.
const maxFrame = 0xffff

// frameReaderMin is the first size of a frame reader's buffer: enough for
// STUN and ordinary media; it grows to what a larger frame needs.
const frameReaderMin = 4096

// errEmptyFrame is a zero-length RFC 4571 frame: nothing ICE sends, so the
// stream is not one of ours (or is corrupt).
var errEmptyFrame = errors.New("nice: empty RFC 4571 frame on an ICE-TCP connection")

// frameReader reads RFC 4571 frames from a byte stream into a buffer of
// its own, without allocating once the buffer has grown to the largest
// frame seen.
type frameReader struct {
	r          io.Reader
	buf        []byte
	start, end int // buf[start:end] is read and not yet returned
}

// next returns the next frame's payload, valid until the following call.
// It returns io.EOF at a clean end of the stream (between frames),
// io.ErrUnexpectedEOF in the middle of one, errEmptyFrame for a frame of
// length 0, and the reader's error otherwise.
func (f *frameReader) next() ([]byte, error) {
	if f.buf == nil {
		f.buf = make([]byte, frameReaderMin)
	}
	if err := f.fill(2); err != nil {
		return nil, err
	}
	n := int(f.buf[f.start])<<8 | int(f.buf[f.start+1])
	if n == 0 {
		return nil, errEmptyFrame
	}
	if err := f.fill(2 + n); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	p := f.buf[f.start+2 : f.start+2+n]
	f.start += 2 + n
	return p, nil
}

// fill reads until buf[start:end] holds at least n bytes, moving what is
// held to the front of the buffer, or growing it, when the rest does not
// fit. At a clean end of the stream before any byte of the n it returns
// io.EOF; after some, io.ErrUnexpectedEOF.
func (f *frameReader) fill(n int) error {
	if f.end-f.start >= n {
		return nil
	}
	if len(f.buf)-f.start < n {
		if n > len(f.buf) {
			nb := make([]byte, max(n, 2*len(f.buf)))
			f.end = copy(nb, f.buf[f.start:f.end])
			f.buf = nb
		} else {
			f.end = copy(f.buf, f.buf[f.start:f.end])
		}
		f.start = 0
	}
	for f.end-f.start < n {
		k, err := f.r.Read(f.buf[f.end:])
		f.end += k
		if f.end-f.start >= n {
			return nil
		}
		if err != nil {
			if err == io.EOF && f.end > f.start {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// appendFrame appends p as one RFC 4571 frame to b. p must not be longer
// than maxFrame.
func appendFrame(b, p []byte) []byte {
	b = append(b, byte(len(p)>>8), byte(len(p)))
	return append(b, p...)
}
