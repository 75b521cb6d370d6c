//go:build unix

package ocr

import (
	"os/exec"
	"syscall"
)

// killGroupOnCancel starts the process in a group of its own and, when the
// context ends, kills the whole group: nothing tesseract started survives.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
