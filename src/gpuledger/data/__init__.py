"""Third-party data shipped with gpuledger, each folder with its licence and credit.

``epoch/``: Epoch AI's "Data on GPU Clusters" and "Frontier Data Centers" CSV
downloads, unchanged, under CC BY 4.0 (see ``epoch/README.md``).
"""
