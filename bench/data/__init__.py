"""Data tools that are not plugins: class subsets, public files, galleries, generators."""
