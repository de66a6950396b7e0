"""Sample-document generators and the retrieval evaluation set for the knowledge base."""
