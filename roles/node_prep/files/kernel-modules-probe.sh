#!/bin/sh
# Prints "<module> <state>" per argument: loaded, builtin, loadable, or missing.
# A monolithic kernel (no /proc/modules) cannot load anything; there a module counts
# as built in when the feature it provides is visible.
feature_present() {
  case "$1" in
    overlay) grep -qw overlay /proc/filesystems ;;
    br_netfilter) test -d /proc/sys/net/bridge ;;
    *) test -d "/sys/module/$1" ;;
  esac
}
builtin_list="/lib/modules/$(uname -r)/modules.builtin"
for m in "$@"; do
  if [ -r /proc/modules ] && grep -q "^$m " /proc/modules; then
    echo "$m loaded"
  elif [ -r "$builtin_list" ] && grep -q "/$m\.ko" "$builtin_list"; then
    echo "$m builtin"
  elif [ ! -e /proc/modules ]; then
    if feature_present "$m"; then echo "$m builtin"; else echo "$m missing"; fi
  else
    echo "$m loadable"
  fi
done
