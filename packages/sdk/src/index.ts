// Custos SDK: typed client and wallet. The HTTP client arrives with the API issue.
export {};
