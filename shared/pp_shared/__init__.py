"""PolicyPulse shared library: the contracts every service agrees on, and shared plumbing."""
