#!/usr/bin/env python3
"""Checks that the API reference documents every public declaration.

    docs_check.py XML_DIR HEADER... [-- COMMAND...]

COMMAND, when given, runs first (the test builds the `docs` target with it,
which runs Doxygen). Then, in Doxygen's XML output XML_DIR, every macro,
typedef, enum, enum value, function and struct, and every struct member,
declared in one of the HEADERs (by file name: common.h or
include/migrate/common.h) must have a non-empty brief or detailed
description. The undocumented ones are listed, and the exit status is 1
when there is any, or when a HEADER is not in the reference at all.
"""
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

MEMBER_KINDS = {"define", "typedef", "enum", "function", "variable"}


def described(elem):
    """True when elem has a non-empty brief or detailed description."""
    for tag in ("briefdescription", "detaileddescription"):
        part = elem.find(tag)
        if part is not None and "".join(part.itertext()).strip():
            return True
    return False


def where(elem):
    loc = elem.find("location")
    if loc is None:
        return "?"
    return "%s:%s" % (loc.get("file", "?"), loc.get("line", "?"))


def header_of(elem):
    loc = elem.find("location")
    return os.path.basename(loc.get("file", "")) if loc is not None else ""


def check_members(parent, missing, counted):
    """Checks the memberdefs under parent (a file or struct compounddef)."""
    for member in parent.iter("memberdef"):
        kind = member.get("kind")
        if kind not in MEMBER_KINDS:
            continue
        name = member.findtext("name", "?")
        counted[0] += 1
        if not described(member):
            missing.append("%s: %s %s" % (where(member), kind, name))
        if kind == "enum":
            for value in member.iter("enumvalue"):
                counted[0] += 1
                if not described(value):
                    missing.append("%s: enum value %s (of %s)" % (where(member), value.findtext("name", "?"), name))


def main(argv):
    if "--" in argv:
        split = argv.index("--")
        args, command = argv[:split], argv[split + 1:]
    else:
        args, command = argv, []
    if len(args) < 2:
        sys.stderr.write(__doc__)
        return 2
    xml_dir, headers = args[0], {os.path.basename(h) for h in args[1:]}
    if command:
        status = subprocess.call(command)
        if status != 0:
            print("docs_check: %s failed with status %d" % (" ".join(command), status))
            return 1

    index = ET.parse(os.path.join(xml_dir, "index.xml")).getroot()
    missing, counted, seen = [], [0], set()
    for compound in index.findall("compound"):
        kind = compound.get("kind")
        if kind not in ("file", "struct"):
            continue
        root = ET.parse(os.path.join(xml_dir, compound.get("refid") + ".xml")).getroot()
        for cdef in root.findall("compounddef"):
            if kind == "file":
                name = os.path.basename(cdef.findtext("compoundname", ""))
                if name not in headers:
                    continue
                seen.add(name)
                check_members(cdef, missing, counted)
            elif header_of(cdef) in headers:
                counted[0] += 1
                if not described(cdef):
                    missing.append("%s: struct %s" % (where(cdef), cdef.findtext("compoundname", "?")))
                check_members(cdef, missing, counted)

    for header in sorted(headers - seen):
        missing.append("%s: not in the reference (is it in Doxygen's INPUT?)" % header)
    if missing:
        print("docs_check: %d of the declarations in %s have no documentation:" % (len(missing), ", ".join(sorted(headers))))
        for line in missing:
            print("  " + line)
        return 1
    print("docs_check: all %d declarations in %s are documented" % (counted[0], ", ".join(sorted(headers))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
