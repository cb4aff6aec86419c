#!/usr/bin/env bash
# Placeholder until the browser test lands: nothing to install yet.
exit 0
