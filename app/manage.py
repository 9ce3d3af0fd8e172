#!/usr/bin/env python3
"""Development entry point; installed releases use the `sampleapp-manage` console script."""

from sampleapp.manage import main

if __name__ == "__main__":
    main()
