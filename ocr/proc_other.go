//go:build !unix

package ocr

import "os/exec"

// killGroupOnCancel keeps exec's default where process groups do not
// exist: the process itself is killed when the context ends.
func killGroupOnCancel(*exec.Cmd) {}
