// SPDX-License-Identifier: MIT

package dtlssrtp

import (
	"crypto"
	"crypto/md5"  //nolint:gosec // RFC 8122 names md5; accepted from peers only
	"crypto/sha1" //nolint:gosec // RFC 8122 names sha-1; accepted from peers only
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/pion/dtls/v2/pkg/crypto/selfsign"
)

// Fingerprint is an SDP a=fingerprint value (RFC 8122 §5): a hash
// function's name and the certificate's digest.
type Fingerprint struct {
	Hash   string // lower case: "sha-256", "sha-1", …
	Digest []byte
}

// hashes are the hash functions of RFC 8122 §5 that can be computed here
// (md2 cannot).
var hashes = map[string]crypto.Hash{
	"md5":     crypto.MD5,
	"sha-1":   crypto.SHA1,
	"sha-224": crypto.SHA224,
	"sha-256": crypto.SHA256,
	"sha-384": crypto.SHA384,
	"sha-512": crypto.SHA512,
}

// Linked in for crypto.Hash.New.
var _ = []any{md5.New, sha1.New, sha256.New, sha512.New}

// ErrFingerprint is the error of a fingerprint that cannot be parsed or
// computed, and of a peer certificate that matches none.
var ErrFingerprint = errors.New("dtlssrtp: fingerprint")

// ParseFingerprint parses the value of an a=fingerprint attribute:
// "sha-256 AB:CD:…" (the hash name is case-insensitive, RFC 8122 §5).
func ParseFingerprint(s string) (Fingerprint, error) {
	name, value, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return Fingerprint{}, fmt.Errorf("%w: %q has no digest", ErrFingerprint, s)
	}
	name = strings.ToLower(name)
	h, ok := hashes[name]
	if !ok {
		return Fingerprint{}, fmt.Errorf("%w: unsupported hash %q", ErrFingerprint, name)
	}
	value = strings.TrimSpace(value)
	parts := strings.Split(value, ":")
	if len(parts) != h.Size() {
		return Fingerprint{}, fmt.Errorf("%w: %s digest has %d bytes, want %d", ErrFingerprint, name, len(parts), h.Size())
	}
	d := make([]byte, len(parts))
	for i, p := range parts {
		if len(p) != 2 {
			return Fingerprint{}, fmt.Errorf("%w: bad digest byte %q", ErrFingerprint, p)
		}
		b, err := hex.DecodeString(p)
		if err != nil {
			return Fingerprint{}, fmt.Errorf("%w: bad digest byte %q", ErrFingerprint, p)
		}
		d[i] = b[0]
	}
	return Fingerprint{Hash: name, Digest: d}, nil
}

// String is the attribute's value: the hash name, a space, the digest in
// upper-case hex bytes separated by colons.
func (f Fingerprint) String() string {
	var b strings.Builder
	b.WriteString(f.Hash)
	b.WriteByte(' ')
	for i, x := range f.Digest {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// FingerprintOf computes the fingerprint of a DER certificate with the
// named hash.
func FingerprintOf(der []byte, hash string) (Fingerprint, error) {
	hash = strings.ToLower(hash)
	h, ok := hashes[hash]
	if !ok {
		return Fingerprint{}, fmt.Errorf("%w: unsupported hash %q", ErrFingerprint, hash)
	}
	w := h.New()
	w.Write(der)
	return Fingerprint{Hash: hash, Digest: w.Sum(nil)}, nil
}

// matches reports whether the DER certificate has one of the fingerprints.
func matches(der []byte, fps []Fingerprint) bool {
	for _, fp := range fps {
		got, err := FingerprintOf(der, fp.Hash)
		if err == nil && subtle.ConstantTimeCompare(got.Digest, fp.Digest) == 1 {
			return true
		}
	}
	return false
}

// Certificate is a DTLS certificate with its private key.
type Certificate struct {
	tls  tls.Certificate
	leaf *x509.Certificate
}

// GenerateCertificate makes a self-signed ECDSA P-256 certificate.
func GenerateCertificate() (*Certificate, error) {
	c, err := selfsign.GenerateSelfSigned()
	if err != nil {
		return nil, fmt.Errorf("dtlssrtp: generate certificate: %w", err)
	}
	return NewCertificate(c)
}

// NewCertificate wraps a certificate the application supplies; it needs
// its private key and at least one DER certificate.
func NewCertificate(c tls.Certificate) (*Certificate, error) {
	if len(c.Certificate) == 0 || c.PrivateKey == nil {
		return nil, errors.New("dtlssrtp: certificate without DER data or private key")
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("dtlssrtp: certificate: %w", err)
	}
	return &Certificate{tls: c, leaf: leaf}, nil
}

// Fingerprint is the certificate's sha-256 fingerprint, what a=fingerprint
// carries.
func (c *Certificate) Fingerprint() Fingerprint {
	fp, _ := FingerprintOf(c.leaf.Raw, "sha-256") // sha-256 is always there
	return fp
}

// TLS returns the certificate as crypto/tls holds it.
func (c *Certificate) TLS() tls.Certificate { return c.tls }
