package config

import (
	"flag"
	"fmt"
)

// Flags collects the settings given on the command line; pass it to Load in Sources.
//
// It records which flags were given, so a flag left out does not hide the
// environment or the file behind a flag default. One Flags may be registered
// on several flag sets (say the global one, for flags before the command, and
// the command's own): whichever set parses a flag last wins.
type Flags struct {
	values     map[string]string // flag name → value, for the flags given
	configFile string
}

// NewFlags returns an empty Flags, for registering on several flag sets.
func NewFlags() *Flags { return &Flags{values: map[string]string{}} }

// RegisterFlags registers --config and one flag per setting on fs.
func RegisterFlags(fs *flag.FlagSet) *Flags {
	f := NewFlags()
	f.Register(fs)
	return f
}

// Register registers --config FILE and one flag per setting on fs.
//
// Secrets get only their --…-file flag: a token on the command line is
// visible to every local user through ps and /proc.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.Var(&configFlag{f}, "config", "read settings from the YAML `FILE` (keys: the variable names in lowercase, without UPGRADEBOT_)")
	for _, s := range Settings() {
		if s.Flag != "" {
			fs.Var(&settingFlag{f, s.Flag}, s.Flag, flagUsage(s))
		}
		if s.FileFlag != "" {
			fs.Var(&settingFlag{f, s.FileFlag}, s.FileFlag,
				fmt.Sprintf("read %s from `FILE` (env %s)", s.Name, s.FileName))
		}
	}
}

// ConfigFile returns the --config value, "" when not given.
func (f *Flags) ConfigFile() string {
	if f == nil {
		return ""
	}
	return f.configFile
}

// get returns the value of a flag that was given.
func (f *Flags) get(name string) (string, bool) {
	if f == nil {
		return "", false
	}
	v, ok := f.values[name]
	return v, ok
}

// flagUsage is the help line of a setting's flag: what it is, its variable and default.
func flagUsage(s Setting) string {
	u := s.Description + " (env " + s.Name
	switch {
	case s.Default != "" && s.DefaultDoc != s.Default:
		u += ", default " + s.Default + ": " + s.DefaultDoc
	case s.Default != "":
		u += ", default " + s.Default
	case s.DefaultDoc != "—":
		u += ", default " + s.DefaultDoc
	}
	return u + ")"
}

// settingFlag is the flag.Value of one setting. The flag package calls String
// on a zero value (nil f) to decide whether to print a default, hence the nil check.
type settingFlag struct {
	f    *Flags
	name string
}

func (v *settingFlag) String() string {
	if v == nil || v.f == nil {
		return ""
	}
	return v.f.values[v.name]
}

func (v *settingFlag) Set(s string) error {
	v.f.values[v.name] = s
	return nil
}

type configFlag struct{ f *Flags }

func (v *configFlag) String() string {
	if v == nil || v.f == nil {
		return ""
	}
	return v.f.configFile
}

func (v *configFlag) Set(s string) error {
	v.f.configFile = s
	return nil
}
