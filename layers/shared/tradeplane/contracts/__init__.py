"""What domains share at run time: topic names and event payload models, defined once.

A domain never imports another domain; when two of them exchange data over
Kafka, both import the contract from here.
"""
