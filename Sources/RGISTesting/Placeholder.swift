import RGISStore
