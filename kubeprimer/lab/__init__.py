"""The local lab: real Debian systemd machines booted with systemd-nspawn on one host.

Ansible and Fabric reach lab nodes over SSH exactly as they reach bare metal. The
modules here are split by concern: ``plan`` (names, addresses, groups; pure),
``host`` (commands and checks on the host), ``image`` (the cached root file system),
``proxy`` (the shared package cache), ``node`` (one machine), ``state`` (what a lab
owns on disk), ``inventory`` (the Ansible inventory) and ``lifecycle`` (up, status,
down).
"""
